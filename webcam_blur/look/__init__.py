"""How the result looks: the matte (refine), what is behind the person (effects, background), the blend (compositor)."""
