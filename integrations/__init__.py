"""Code that runs in your own app, not in Vigil: ``reporting`` adds the headers that make browsers report here."""
