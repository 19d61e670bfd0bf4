"""Devices of a Mediaflow stack, as the `mediaflow` commands reach them: where a running
`mediaflow serve` or a deployed stack is (`targets`), and the credentials of the principals
added to its user pool, saved on this machine (`credentials`). `state` says where both live.
"""
