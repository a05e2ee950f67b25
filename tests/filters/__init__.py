"""The filters."""
