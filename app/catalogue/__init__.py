"""The catalogue: stations, piles, connectors, versioned tariffs, pile history."""
