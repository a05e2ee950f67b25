"""The embedded model: llama.cpp's server from the xllamacpp wheel, started and watched as a child process."""
