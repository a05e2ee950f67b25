"""`respond`: answer the instructions of a pool with one or more models (SFT answers, and the candidates that
`prefer` ranks)."""
