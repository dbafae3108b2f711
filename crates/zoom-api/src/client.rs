//! The REST client: users and meetings, each call taking the caller's access token.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

use crate::clock::Clock;
use crate::error::{Error, UnknownOutcome, describe_json_error};
use crate::meetings::{
    DeleteOptions, ListMeetings, Meeting, MeetingPage, MeetingSummary, MeetingUpdate, NewMeeting,
};
use crate::retry::RetryPolicy;
use crate::tokens::AccessToken;
use crate::transport::{Auth, Body, Call, RawResponse, Transport, endpoint};
use crate::users::User;

/// Pages followed at most when listing: 300 meetings a page makes this 60 000 meetings,
/// far beyond any one user's, and it stops a server that keeps returning page tokens.
const MAX_PAGES: usize = 200;

/// Zoom's REST API (`/v2/...`).
#[derive(Debug, Clone)]
pub struct ZoomClient {
    api_base: Url,
    transport: Transport,
}

impl ZoomClient {
    /// `api_base` is `https://api.zoom.us` for real Zoom (or the token's `api_url`), or the
    /// simulator's base URL.
    pub fn new(api_base: Url, http: reqwest::Client) -> Self {
        Self {
            api_base,
            transport: Transport::new(http),
        }
    }

    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport.retry = policy;
        self
    }

    /// Per-request timeout (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// The clock used to interpret `Retry-After` and daily-limit resets.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.transport.clock = clock;
        self
    }

    pub fn api_base(&self) -> &Url {
        &self.api_base
    }

    /// `GET /v2/users/me`.
    pub async fn me(&self, token: &AccessToken) -> Result<User, Error> {
        let call = Call {
            endpoint: endpoint("GET", "/v2/users/me")?,
            path_params: Vec::new(),
            query: Vec::new(),
            body: Body::Empty,
            auth: Auth::Bearer(token),
        };
        let resp = self.transport.send(&self.api_base, &call).await?;
        decode(&resp)
    }

    /// `POST /v2/users/me/meetings`. Never retried: on [`Error::CreateOutcomeUnknown`] the
    /// meeting may exist; list meetings to reconcile before creating again.
    pub async fn create_meeting(
        &self,
        token: &AccessToken,
        meeting: &NewMeeting,
    ) -> Result<Meeting, Error> {
        let body = serde_json::to_value(meeting).map_err(|e| Error::UnexpectedResponse {
            status: 0,
            detail: format!("could not encode the meeting: {}", describe_json_error(&e)),
        })?;
        let call = Call {
            endpoint: endpoint("POST", "/v2/users/me/meetings")?,
            path_params: Vec::new(),
            query: Vec::new(),
            body: Body::Json(body),
            auth: Auth::Bearer(token),
        };
        let resp = self.transport.send(&self.api_base, &call).await?;
        // Zoom created the meeting; if we cannot read its id we must not pretend otherwise.
        decode(&resp).map_err(|_| Error::CreateOutcomeUnknown {
            cause: UnknownOutcome::UnreadableResponse,
        })
    }

    /// `GET /v2/meetings/{id}`: also the way to get a fresh `start_url`.
    pub async fn get_meeting(
        &self,
        token: &AccessToken,
        meeting_id: u64,
    ) -> Result<Meeting, Error> {
        let call = Call {
            endpoint: endpoint("GET", "/v2/meetings/{meetingId}")?,
            path_params: vec![("meetingId", meeting_id.to_string())],
            query: Vec::new(),
            body: Body::Empty,
            auth: Auth::Bearer(token),
        };
        let resp = self.transport.send(&self.api_base, &call).await?;
        decode(&resp)
    }

    /// `PATCH /v2/meetings/{id}` (Zoom answers 204).
    pub async fn update_meeting(
        &self,
        token: &AccessToken,
        meeting_id: u64,
        update: &MeetingUpdate,
    ) -> Result<(), Error> {
        let body = serde_json::to_value(update).map_err(|e| Error::UnexpectedResponse {
            status: 0,
            detail: format!("could not encode the update: {}", describe_json_error(&e)),
        })?;
        let call = Call {
            endpoint: endpoint("PATCH", "/v2/meetings/{meetingId}")?,
            path_params: vec![("meetingId", meeting_id.to_string())],
            query: Vec::new(),
            body: Body::Json(body),
            auth: Auth::Bearer(token),
        };
        self.transport.send(&self.api_base, &call).await?;
        Ok(())
    }

    /// `DELETE /v2/meetings/{id}` (Zoom answers 204). A meeting already gone is
    /// [`Error::NotFound`]; callers cancelling a meeting should treat that as done.
    pub async fn delete_meeting(
        &self,
        token: &AccessToken,
        meeting_id: u64,
        options: &DeleteOptions,
    ) -> Result<(), Error> {
        let mut query = Vec::new();
        if let Some(id) = &options.occurrence_id {
            query.push(("occurrence_id", id.clone()));
        }
        if let Some(b) = options.schedule_for_reminder {
            query.push(("schedule_for_reminder", b.to_string()));
        }
        if let Some(b) = options.cancel_meeting_reminder {
            query.push(("cancel_meeting_reminder", b.to_string()));
        }
        let call = Call {
            endpoint: endpoint("DELETE", "/v2/meetings/{meetingId}")?,
            path_params: vec![("meetingId", meeting_id.to_string())],
            query,
            body: Body::Empty,
            auth: Auth::Bearer(token),
        };
        self.transport.send(&self.api_base, &call).await?;
        Ok(())
    }

    /// One page of `GET /v2/users/me/meetings`.
    pub async fn list_meetings_page(
        &self,
        token: &AccessToken,
        options: &ListMeetings,
        next_page_token: Option<&str>,
    ) -> Result<MeetingPage, Error> {
        let mut query = vec![
            ("type", options.list_type.as_str().to_owned()),
            ("page_size", options.page_size.clamp(1, 300).to_string()),
        ];
        if let Some(t) = next_page_token.filter(|t| !t.is_empty()) {
            query.push(("next_page_token", t.to_owned()));
        }
        let call = Call {
            endpoint: endpoint("GET", "/v2/users/me/meetings")?,
            path_params: Vec::new(),
            query,
            body: Body::Empty,
            auth: Auth::Bearer(token),
        };
        let resp = self.transport.send(&self.api_base, &call).await?;
        decode(&resp)
    }

    /// Every meeting of the user, following `next_page_token` to the last page.
    pub async fn list_meetings(
        &self,
        token: &AccessToken,
        options: &ListMeetings,
    ) -> Result<Vec<MeetingSummary>, Error> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .list_meetings_page(token, options, next.as_deref())
                .await?;
            all.extend(page.meetings);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) if next.as_deref() != Some(t.as_str()) => next = Some(t),
                Some(_) => {
                    return Err(Error::UnexpectedResponse {
                        status: 200,
                        detail: "Zoom repeated the same next_page_token".into(),
                    });
                }
                None => return Ok(all),
            }
        }
        Err(Error::UnexpectedResponse {
            status: 200,
            detail: format!("more than {MAX_PAGES} pages of meetings"),
        })
    }
}

fn decode<T: DeserializeOwned>(resp: &RawResponse) -> Result<T, Error> {
    serde_json::from_slice(&resp.body).map_err(|e| Error::UnexpectedResponse {
        status: resp.status,
        detail: describe_json_error(&e),
    })
}
