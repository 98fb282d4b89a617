"""What drivers do: login, membership, certification, stations and QR codes, their orders live,
support."""
