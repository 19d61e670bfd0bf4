"""InspectFunction: identifies an upload from its bytes and decides what becomes of it."""
