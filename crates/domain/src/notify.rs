//! Notifications in the app (DOMAIN: everyone's inbox): a line addressed to a role — or a line
//! department — within a region, with a link; and webhooks that forward them to an external SMS
//! or WeChat gateway.

use chrono::{DateTime, Utc};

use crate::account::Role;
use crate::measure::Department;
use crate::region::RegionCode;

/// A notification to store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewNotification {
    /// The region it concerns (a village): the users whose region contains it see it.
    pub region: RegionCode,
    pub role: Option<Role>,
    pub department: Option<Department>,
    pub text: String,
    pub link: String,
}

impl NewNotification {
    pub fn to_role(role: Role, region: RegionCode, text: String, link: String) -> Self {
        NewNotification { region, role: Some(role), department: None, text, link }
    }

    pub fn to_department(department: Department, region: RegionCode, text: String, link: String) -> Self {
        NewNotification { region, role: Some(Role::DepartmentStaff), department: Some(department), text, link }
    }
}

/// A stored notification, and whether the reader has read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    pub id: i64,
    pub region: RegionCode,
    pub role: Option<Role>,
    pub department: Option<Department>,
    pub text: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// A webhook: notifications to a role (or a department) within a region, POSTed as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Webhook {
    pub id: i64,
    pub role: Option<Role>,
    pub department: Option<Department>,
    pub region: RegionCode,
    pub url: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A checked webhook to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub role: Option<Role>,
    pub department: Option<Department>,
    pub region: RegionCode,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("请选择接收的角色或行业部门")]
    NoTarget,
    #[error("网关地址应以 http:// 开头，如 http://10.0.0.5:8000/sms（HTTPS 网关请经本机或内网的转发服务接入）")]
    BadUrl,
}

impl NewWebhook {
    /// Checks the target and the URL: plain HTTP to a gateway on the local network (a TLS
    /// gateway is reached through a local relay, so that fangpin carries no TLS client).
    pub fn check(
        role: Option<Role>,
        department: Option<Department>,
        region: RegionCode,
        url: &str,
    ) -> Result<NewWebhook, WebhookError> {
        let url = url.trim();
        if role.is_none() && department.is_none() {
            return Err(WebhookError::NoTarget);
        }
        let rest = url.strip_prefix("http://").ok_or(WebhookError::BadUrl)?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(WebhookError::BadUrl);
        }
        let role = if department.is_some() { Some(Role::DepartmentStaff) } else { role };
        Ok(NewWebhook { role, department, region, url: url.to_string() })
    }
}

/// What a webhook receives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookMessage {
    pub id: i64,
    pub text: String,
    /// Path in fangpin (prefix it with the server's address).
    pub link: String,
    pub region: String,
    pub role: Option<String>,
    pub department: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let r = RegionCode::parse("450203000000").unwrap();
        assert!(NewWebhook::check(Some(Role::TownOffice), None, r, "http://10.0.0.5:8000/sms").is_ok());
        assert_eq!(NewWebhook::check(None, None, r, "http://x/"), Err(WebhookError::NoTarget));
        assert_eq!(NewWebhook::check(Some(Role::TownOffice), None, r, "https://x/"), Err(WebhookError::BadUrl));
        assert_eq!(NewWebhook::check(Some(Role::TownOffice), None, r, "http:///x"), Err(WebhookError::BadUrl));
        let w = NewWebhook::check(None, Some(Department::MedicalSecurity), r, " http://gw/ ").unwrap();
        assert_eq!((w.role, w.url.as_str()), (Some(Role::DepartmentStaff), "http://gw/"));
    }
}
