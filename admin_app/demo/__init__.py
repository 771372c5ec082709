"""Demo data for the small store: a catalogue, customers and their orders."""
