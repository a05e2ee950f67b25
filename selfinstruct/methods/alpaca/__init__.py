"""Stanford Alpaca's variant: about 20 complete tasks per request from 3 seed demonstrations."""
