"""Pictures and widgets for readers: the diagrams of trust and of the two layers, and the policy playground."""
