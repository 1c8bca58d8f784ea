"""`piko cc notify` (placeholder)."""


def main(args: list[str]) -> int:
    return 0
