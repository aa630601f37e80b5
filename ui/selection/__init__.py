"""What the student has chosen: the sidebar, the address bar that mirrors it, the weights, the picture, the page's view."""
