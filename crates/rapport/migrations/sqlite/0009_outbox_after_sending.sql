-- A sent message keeps its row (the contact's timeline and the admin page count it) but not
-- its bodies and attachments: an invitation carries the meeting's join link and passcode, a
-- password reset its link, and nothing reads them once the message is out. Messages sent
-- before this migration lose theirs now; mail::mark_sent empties them from now on.
UPDATE outbox SET text_body = '', html_body = '', attachments = '[]' WHERE state = 'sent';

-- The contact page lists the contact's messages that are not sent yet (an invitation written
-- while SMTP is down). No index led to them: every contact page scanned the whole outbox (the
-- benchmark's full run: 6,087 messages in 3,726 pages, 3-7 ms per view, growing with all mail
-- ever sent by every organization). Only unsent messages are indexed, so the index stays as
-- small as the queue.
CREATE INDEX outbox_unsent_by_contact ON outbox (org_id, contact_id, id) WHERE state <> 'sent';
