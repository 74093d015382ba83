"""Game environments: OpenSpiel games and the Game of 24."""
