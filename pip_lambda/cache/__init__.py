"""The build cache: storage and its checked records, the key, the wheel store and the reuse of earlier builds."""
