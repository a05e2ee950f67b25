"""The loopback fake servers and scripted models the tests run against, with their own tests."""
