"""cti: the link between the platform and Asterisk.

- ami.AmiSession: one supervised AMI connection (login, reconnect, resync
  hooks, typed event dispatch, actions); events.*: the typed AMI events.
- channels.ChannelTracker / endpoints.EndpointTracker: live channel and phone
  state, wired to a session by channels.attach_trackers().
- fastagi.FastAgiServer / agi_call.AgiCall: the FastAGI side (IVR handlers).
- bus.EventBus / InProcessBus: the internal event bus.

It imports nothing else of the project: addresses, ports and secrets come in
through constructors.
"""
