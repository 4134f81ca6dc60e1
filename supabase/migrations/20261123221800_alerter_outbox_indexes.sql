-- Alerter outbox: the dispatcher looks up the last hand-off per (channel, recipient)
-- for the minimum gap on every claim, and the webhook finds rows by provider id
-- (already unique). Without this index the gap lookup scans the whole outbox.
create index if not exists notifications_channel_recipient_idx
  on public.notifications (channel, recipient, accepted_at desc);
