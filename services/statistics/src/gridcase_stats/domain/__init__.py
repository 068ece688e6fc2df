"""Pure statistics logic: a case's statistical state, periods, figures, report sentences."""
