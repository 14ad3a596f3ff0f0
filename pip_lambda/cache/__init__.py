"""The build cache: storage, the key, the wheel store and the reuse of earlier builds."""
