"""The private check (RFC 9497 OPRF): the protocol, the server side, building bucket files, the client."""
