"""Pure case logic: the lifecycle table, the case projection and the decisions of actions."""
