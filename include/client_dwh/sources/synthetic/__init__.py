"""The synthetic source system: clients and their activity, landed as parts like a real export."""
