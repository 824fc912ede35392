"""Distribution: weights folders, the registry, downloads, the allow-list, cards, the Hub upload and the release."""
