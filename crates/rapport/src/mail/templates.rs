//! The emails Rapport sends, each as a text and an HTML template (askama escapes the HTML one).

use askama::Template;

use crate::mail::Email;

#[derive(Template)]
#[template(path = "emails/invite.txt")]
struct InviteText<'a> {
    name: &'a str,
    inviter: &'a str,
    org_name: &'a str,
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "emails/invite.html")]
struct InviteHtml<'a> {
    name: &'a str,
    inviter: &'a str,
    org_name: &'a str,
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "emails/reset.txt")]
struct ResetText<'a> {
    name: &'a str,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "emails/reset.html")]
struct ResetHtml<'a> {
    name: &'a str,
    link: &'a str,
    minutes: i64,
}

pub struct Invite<'a> {
    pub to_email: &'a str,
    pub name: &'a str,
    pub inviter: &'a str,
    pub org_name: &'a str,
    pub org_id: i64,
    pub link: &'a str,
    pub days: i64,
}

pub fn invite(i: &Invite<'_>) -> Result<Email, askama::Error> {
    let text = InviteText {
        name: i.name,
        inviter: i.inviter,
        org_name: i.org_name,
        link: i.link,
        days: i.days,
    }
    .render()?;
    let html = InviteHtml {
        name: i.name,
        inviter: i.inviter,
        org_name: i.org_name,
        link: i.link,
        days: i.days,
    }
    .render()?;
    Ok(Email {
        to_address: i.to_email.to_owned(),
        to_name: Some(i.name.to_owned()),
        subject: format!("{} invited you to {} on Rapport", i.inviter, i.org_name),
        text_body: text,
        html_body: html,
        attachments: Vec::new(),
        org_id: Some(i.org_id),
        contact_id: None,
    })
}

pub fn password_reset(
    to_email: &str,
    name: &str,
    org_id: i64,
    link: &str,
    minutes: i64,
) -> Result<Email, askama::Error> {
    Ok(Email {
        to_address: to_email.to_owned(),
        to_name: Some(name.to_owned()),
        subject: "Reset your Rapport password".to_owned(),
        text_body: ResetText {
            name,
            link,
            minutes,
        }
        .render()?,
        html_body: ResetHtml {
            name,
            link,
            minutes,
        }
        .render()?,
        attachments: Vec::new(),
        org_id: Some(org_id),
        contact_id: None,
    })
}
