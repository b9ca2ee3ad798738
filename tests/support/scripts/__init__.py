"""Scripts the tests start as processes of their own (``python <path>``), to kill them."""
