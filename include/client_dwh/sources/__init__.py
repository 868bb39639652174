"""Where data comes from: the synthetic source system, real exports and the file formats they share."""
