"""Networks. Nothing here knows about files, videos or the terminal."""
