//! Accounts, roles, permissions and region scope (GLOSSARY "Roles").
//!
//! What each role may do is decided here, in one table ([`Role::allows`]); which households a
//! user may see is decided by [`Scope`], which every storage read takes.

use chrono::{DateTime, Utc};

use crate::region::RegionCode;

crate::codes::code_enum! {
    /// One role per user.
    pub enum Role {
        Admin = 1 => "系统管理员",
        TownOffice = 2 => "镇专项办",
        VillageCadre = 3 => "村干部",
        Screener = 4 => "排查员",
        AssistanceOfficer = 5 => "帮扶责任人",
        Supervisor = 6 => "督导组成员",
        DepartmentStaff = 7 => "行业部门",
        CountyApprover = 8 => "县级审定人",
        Leader = 9 => "领导",
    }
}

/// Something a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Browse and search households of the scope (masked IDs).
    ViewHouseholds,
    /// See full ID numbers and phones in the detail view (audited, DOMAIN D18).
    ViewSensitive,
    EditHouseholds,
    ImportHouseholds,
    /// Export contains full IDs.
    ExportHouseholds,
    ManageUsers,
    SetParams,
    ViewAudit,
    /// Run a screening (writes findings) and handle findings (dismiss, turn into a clue).
    Screen,
    /// Create a 集中排查 campaign and change its phase dates.
    ManageCampaigns,
    /// Assign (and reassign) screening tasks to screeners.
    AssignTasks,
    /// Record a visit (入户核查) of a task in scope (a screener: of their own tasks).
    RecordVisits,
    /// Accept a visit into the registry, or return it with a reason.
    ReviewVisits,
    /// Assign (or replace) the assistance officer of a monitored household (§7.1).
    AssignOfficers,
    /// Record and update the assistance measures of a monitored household (§7.2).
    ManageMeasures,
    /// Import a department file (部门筛查预警, §9); a 行业部门 account its own department's only.
    ImportFeeds,
    /// Verify a department alert and record the conclusion (§9).
    VerifyAlerts,
    /// Set up 督导组 (issue 7).
    OrganiseSupervision,
    /// Record an inspection (督导) and reopen a rectification whose evidence does not hold.
    Supervise,
    /// Close a rectification (整改) with evidence.
    Rectify,
    /// Ask the Q&A desk (业务解答组) a question for one's village (issue 7).
    AskQuestions,
    /// See the questions of one's scope (not only the published ones).
    ViewQuestions,
    /// Be the Q&A desk: answer, escalate to 柳东新区, record the reply, publish to the FAQ.
    AnswerQuestions,
}

impl Role {
    /// The permission table. Later issues refine Screener/AssistanceOfficer to their own tasks.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            ViewHouseholds => true,
            ViewSensitive => {
                matches!(self, Admin | TownOffice | VillageCadre | Screener | AssistanceOfficer | CountyApprover)
            }
            EditHouseholds => matches!(self, Admin | TownOffice | VillageCadre),
            ImportHouseholds => matches!(self, Admin | TownOffice),
            ExportHouseholds => matches!(self, Admin | TownOffice | VillageCadre),
            Screen => matches!(self, Admin | TownOffice | VillageCadre),
            ManageCampaigns => matches!(self, Admin | TownOffice),
            AssignTasks => matches!(self, Admin | TownOffice | VillageCadre),
            RecordVisits => matches!(self, Admin | TownOffice | VillageCadre | Screener | AssistanceOfficer),
            ReviewVisits => matches!(self, Admin | TownOffice | VillageCadre),
            AssignOfficers => matches!(self, TownOffice | VillageCadre),
            ManageMeasures => matches!(self, TownOffice | VillageCadre | AssistanceOfficer),
            ImportFeeds => matches!(self, Admin | TownOffice | DepartmentStaff),
            VerifyAlerts => matches!(self, TownOffice | VillageCadre),
            OrganiseSupervision => matches!(self, Admin | TownOffice),
            Supervise => matches!(self, TownOffice | Supervisor),
            Rectify => matches!(self, TownOffice | VillageCadre),
            AskQuestions => matches!(self, VillageCadre | Screener | AssistanceOfficer),
            ViewQuestions => !matches!(self, DepartmentStaff | CountyApprover),
            AnswerQuestions => self == TownOffice,
            ManageUsers | SetParams | ViewAudit => self == Admin,
        }
    }

    /// Identifier used on the command line (`--role town_office`).
    pub fn key(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::TownOffice => "town_office",
            Role::VillageCadre => "village_cadre",
            Role::Screener => "screener",
            Role::AssistanceOfficer => "assistance_officer",
            Role::Supervisor => "supervisor",
            Role::DepartmentStaff => "department_staff",
            Role::CountyApprover => "county_approver",
            Role::Leader => "leader",
        }
    }

    pub fn from_key(key: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.key() == key.trim() || r.label() == key.trim())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// 用户名: 3–32 characters of letters, digits, '_', '.', '-'.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("用户名“{0}”无效：应为3–32位字母、数字、下划线、点或连字符")]
pub struct UsernameError(pub String);

impl Username {
    pub fn parse(text: &str) -> Result<Self, UsernameError> {
        let t = text.trim();
        let ok = (3..=32).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if ok { Ok(Username(t.to_ascii_lowercase())) } else { Err(UsernameError(t.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Username::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// A user account as stored (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub region: RegionCode,
    pub active: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn scope(&self) -> Scope {
        Scope { role: self.role, region: Some(self.region), user: Some(self.id) }
    }

    pub fn actor(&self) -> Actor {
        Actor { user_id: Some(self.id), name: self.username.to_string(), role: Some(self.role) }
    }

    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

/// Login throttling (issue 2): 5 failures lock the account for 15 minutes.
pub const MAX_FAILED_LOGINS: i32 = 5;
pub const LOCKOUT_MINUTES: i64 = 15;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("密码至少8位")]
    TooShort,
    #[error("密码须包含大写字母、小写字母、数字、符号中的至少三类")]
    TooFewClasses,
    #[error("密码不能包含用户名")]
    ContainsUsername,
}

/// Password policy: at least 8 characters from at least 3 of 4 classes.
pub fn check_password(password: &str, username: &str) -> Result<(), PasswordError> {
    if password.chars().count() < 8 {
        return Err(PasswordError::TooShort);
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(PasswordError::TooFewClasses);
    }
    if username.len() >= 3 && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(PasswordError::ContainsUsername);
    }
    Ok(())
}

/// The part of the registry a caller may touch: a region subtree (as an integer range of
/// village codes) and the caller's role. Only built from a user, or for the system itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    role: Role,
    /// `None` for the system scope (everything).
    region: Option<RegionCode>,
    /// The user the scope was built for (`None` for the system).
    user: Option<UserId>,
}

impl Scope {
    #[cfg(test)]
    fn new(role: Role, region: RegionCode) -> Self {
        Scope { role, region: Some(region), user: None }
    }

    /// Everything: for the command line run by the operator of the machine, and for migrations.
    pub fn system() -> Self {
        Scope { role: Role::Admin, region: None, user: None }
    }

    /// The command line's operator limited to one region (e.g. `alerts import --region`).
    pub fn system_in(region: RegionCode) -> Self {
        Scope { role: Role::Admin, region: Some(region), user: None }
    }

    /// A screener and an assistance officer work on the tasks assigned to them only (GLOSSARY
    /// "Roles"): every task, visit and progress query applies this.
    pub fn own_tasks_only(&self) -> Option<UserId> {
        if matches!(self.role, Role::Screener | Role::AssistanceOfficer) {
            Some(self.user.unwrap_or(UserId(-1)))
        } else {
            None
        }
    }

    pub fn is_system(&self) -> bool {
        self.region.is_none()
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The scope's root region (`None` = everything).
    pub fn region(&self) -> Option<RegionCode> {
        self.region
    }

    /// Inclusive range of region codes in scope.
    pub fn range(&self) -> (i64, i64) {
        match self.region {
            None => (0, i64::MAX),
            Some(r) => {
                let (lo, hi) = r.subtree();
                (lo as i64, hi as i64)
            }
        }
    }

    pub fn contains(&self, code: RegionCode) -> bool {
        let (lo, hi) = self.range();
        (lo..=hi).contains(&code.as_i64())
    }

    pub fn allows(&self, p: Permission) -> bool {
        self.role.allows(p)
    }
}

/// Who did something, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub name: String,
    pub role: Option<Role>,
}

impl Actor {
    /// The operator at the command line.
    pub fn cli() -> Self {
        Actor { user_id: None, name: "命令行".to_string(), role: Some(Role::Admin) }
    }

    pub fn system(name: &str) -> Self {
        Actor { user_id: None, name: name.to_string(), role: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert_eq!(check_password("Ab1!", "u"), Err(PasswordError::TooShort));
        assert_eq!(check_password("abcdefgh1", "u"), Err(PasswordError::TooFewClasses));
        assert_eq!(check_password("Abcdefgh1", "u"), Ok(()));
        assert_eq!(check_password("abcdefg1!", "u"), Ok(()));
        assert_eq!(check_password("Zhangsan1!", "zhangsan"), Err(PasswordError::ContainsUsername));
    }

    #[test]
    fn scope_ranges() {
        let town = RegionCode::parse("450203100000").unwrap();
        let s = Scope::new(Role::TownOffice, town);
        assert!(s.contains(RegionCode::parse("450203100201").unwrap()));
        assert!(!s.contains(RegionCode::parse("450203101201").unwrap()));
        assert!(Scope::system().contains(RegionCode::parse("650000000000").unwrap()));
        assert!(Scope::system().is_system());
        assert!(!s.is_system());
    }

    #[test]
    fn permissions() {
        assert!(Role::Admin.allows(Permission::ManageUsers));
        assert!(!Role::TownOffice.allows(Permission::ManageUsers));
        assert!(Role::VillageCadre.allows(Permission::EditHouseholds));
        assert!(!Role::Leader.allows(Permission::EditHouseholds));
        assert!(!Role::Leader.allows(Permission::ViewSensitive));
        assert!(Role::Leader.allows(Permission::ViewHouseholds));
        assert_eq!(Role::from_key("village_cadre"), Some(Role::VillageCadre));
        assert_eq!(Role::from_key("村干部"), Some(Role::VillageCadre));
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("DaZheng.Cadre").unwrap().as_str(), "dazheng.cadre");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("张三").is_err());
    }
}
