"""The local dev server (`lift dev`): not imported at runtime."""
