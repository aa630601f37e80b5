"""Small widgets every page shares."""
