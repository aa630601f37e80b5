"""The app's own Streamlit parts: the frame, the selection, each page's panels, the classroom, shared widgets."""
