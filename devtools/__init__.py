"""Development tooling: a deterministic sample Mixpanel project and loopback stand-ins."""
