"""Written answers: the discussion check, its concepts, classifiers, embeddings, grounded claims and learning."""
