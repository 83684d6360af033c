"""Pure decisions, no I/O: the models, the rules, the plan, edits, digests, the checklist, the text."""
