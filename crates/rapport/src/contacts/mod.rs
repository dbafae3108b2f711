//! Contacts: the people the CRM is about.

pub mod activity;
pub mod csv;
pub mod routes;
pub mod search_index;
pub mod storage;

use serde::Deserialize;

use crate::domain::{self, FieldErrors};
use storage::ContactData;

pub const NAME_MAX: usize = 200;
pub const COMPANY_MAX: usize = 200;
pub const JOB_TITLE_MAX: usize = 200;
pub const NOTES_MAX: usize = 10_000;

/// The contact form as typed (also one CSV row).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub job_title: String,
    pub time_zone: String,
    pub notes: String,
}

impl ContactForm {
    pub fn from_row(c: &storage::ContactRow) -> ContactForm {
        ContactForm {
            name: c.name.clone(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            company: c.company.clone().unwrap_or_default(),
            job_title: c.job_title.clone().unwrap_or_default(),
            time_zone: c.time_zone.clone().unwrap_or_default(),
            notes: c.notes.clone().unwrap_or_default(),
        }
    }

    /// Validates every field, collecting all problems at once.
    pub fn validate(&self) -> Result<ContactData, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", domain::required_text(&self.name, "Name", NAME_MAX));
        let email = errors.check("email", domain::optional_email(&self.email));
        let phone = errors.check("phone", domain::optional_phone(&self.phone));
        let company = errors.check(
            "company",
            domain::optional_text(&self.company, "Company", COMPANY_MAX),
        );
        let job_title = errors.check(
            "job_title",
            domain::optional_text(&self.job_title, "Job title", JOB_TITLE_MAX),
        );
        let time_zone = errors.check("time_zone", domain::optional_time_zone(&self.time_zone));
        let notes = errors.check(
            "notes",
            domain::optional_long_text(&self.notes, "Notes", NOTES_MAX),
        );
        match (name, email, phone, company, job_title, time_zone, notes) {
            (
                Some(name),
                Some(email),
                Some(phone),
                Some(company),
                Some(job_title),
                Some(time_zone),
                Some(notes),
            ) if errors.is_empty() => Ok(ContactData {
                name,
                email,
                phone,
                company,
                job_title,
                time_zone: time_zone.map(|tz| tz.name().to_owned()),
                notes,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_collects_every_error() {
        let form = ContactForm {
            name: " ".into(),
            email: "not-an-email".into(),
            time_zone: "Nowhere/Land".into(),
            ..ContactForm::default()
        };
        let errors = form.validate().unwrap_err();
        assert!(errors.has("name") && errors.has("email") && errors.has("time_zone"));
        let ok = ContactForm {
            name: "Ada Lovelace".into(),
            email: "ADA@example.com".into(),
            time_zone: "Europe/London".into(),
            ..ContactForm::default()
        }
        .validate()
        .unwrap();
        assert_eq!(ok.email.as_deref(), Some("ada@example.com"));
        assert_eq!(ok.search_text(), "ada lovelace ada@example.com");
    }
}
