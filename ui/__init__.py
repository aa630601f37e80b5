"""The app's own parts, beside the page scripts in pages/: the frame app.py calls, and the rooms the pages share.

Rooms, each importing only those below it and ``explorer`` (tests/test_house.py checks):
``frame`` (the page list, navigation and error net) > ``panels`` (parts of one page each) >
``selection`` (the sidebar's choices, the address bar, the weights, the picture, what a page
shows) > ``classroom`` (class panel, session, push, follow) and ``caches`` (what the server keeps
for every session) > ``streamlit_adapter`` (the one module that touches Streamlit's internals).
``widgets`` (small parts any room may use, such as a picture with its text alternative) imports no room.
"""
