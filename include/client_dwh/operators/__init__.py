"""Small custom operators: each renders its fields, opens hooks only in ``execute`` and delegates to a
plain function that tests call directly."""
