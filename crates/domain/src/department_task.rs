//! 任务清单: what the town pushes to a line department for a monitored household (DOMAIN §7.3,
//! D15) — the measure expected and why — and the department's answer: accept, reply, complete
//! with evidence (which records the measure on the household), or send back with a reason.

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::Role;
use crate::household::{HouseholdId, HouseholdNo};
use crate::measure::{Department, MeasureCategory};
use crate::region::RegionCode;

crate::codes::code_enum! {
    /// Where a department task stands. Codes are stored.
    pub enum TaskState {
        Sent = 1 => "待接收",
        Accepted = 2 => "已接收",
        Completed = 3 => "已办结",
        SentBack = 4 => "已退回",
    }
}

impl TaskState {
    pub fn is_open(self) -> bool {
        matches!(self, TaskState::Sent | TaskState::Accepted)
    }
}

/// A task as stored, with its household.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DepartmentTask {
    pub id: i64,
    pub household_id: HouseholdId,
    pub household_no: HouseholdNo,
    pub village: RegionCode,
    pub head_name: Option<String>,
    pub department: Department,
    pub category: MeasureCategory,
    /// The risks and problems it answers.
    pub reason: String,
    pub state: TaskState,
    pub due_on: NaiveDate,
    /// The department's reply (or the reason it was sent back).
    pub answer: String,
    pub completed_on: Option<NaiveDate>,
    /// The measure recorded on completion.
    pub measure_id: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
}

impl DepartmentTask {
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.state.is_open() && today > self.due_on
    }
}

/// What the department does with a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskAction {
    Accept,
    /// A reply without closing (progress, a question back).
    Answer {
        text: String,
    },
    /// Done: what was done (the evidence), and when; recorded as an implemented measure.
    Complete {
        text: String,
        on: NaiveDate,
    },
    /// Not this department's, or not possible: with the reason.
    SendBack {
        reason: String,
    },
}

impl TaskAction {
    pub fn label(&self) -> &'static str {
        match self {
            TaskAction::Accept => "接收",
            TaskAction::Answer { .. } => "答复",
            TaskAction::Complete { .. } => "办结",
            TaskAction::SendBack { .. } => "退回",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("该任务{state}，不能再{action}")]
    WrongState { state: TaskState, action: &'static str },
    #[error("只有{department}的行业部门人员可以{action}该任务")]
    NotYourDepartment { department: Department, action: &'static str },
    #[error("{0}")]
    Missing(&'static str),
    #[error("办结日期不能晚于今天（{today}）")]
    InFuture { today: NaiveDate },
}

/// Decides whether a department user (of `department`) may take `action` on `task` today, and
/// the state afterwards.
pub fn check_action(
    task: &DepartmentTask,
    role: Role,
    department: Option<Department>,
    action: &TaskAction,
    today: NaiveDate,
) -> Result<TaskState, TaskError> {
    if role != Role::DepartmentStaff || department != Some(task.department) {
        return Err(TaskError::NotYourDepartment { department: task.department, action: action.label() });
    }
    let wrong = || TaskError::WrongState { state: task.state, action: action.label() };
    match action {
        TaskAction::Accept if task.state == TaskState::Sent => Ok(TaskState::Accepted),
        TaskAction::Answer { text } if task.state.is_open() => {
            if text.trim().is_empty() {
                return Err(TaskError::Missing("请填写答复内容"));
            }
            Ok(task.state)
        }
        TaskAction::Complete { text, on } if task.state == TaskState::Accepted => {
            if text.trim().is_empty() {
                return Err(TaskError::Missing("办结须写明落实了什么措施（如：已纳入医疗救助，报销2.1万元）"));
            }
            if *on > today {
                return Err(TaskError::InFuture { today });
            }
            Ok(TaskState::Completed)
        }
        TaskAction::SendBack { reason } if task.state.is_open() => {
            if reason.trim().is_empty() {
                return Err(TaskError::Missing("退回须写明理由（如：不属于本部门职责，建议转民政）"));
            }
            Ok(TaskState::SentBack)
        }
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: TaskState) -> DepartmentTask {
        DepartmentTask {
            id: 1,
            household_id: HouseholdId(1),
            household_no: HouseholdNo::parse("4502031002010001").unwrap(),
            village: RegionCode::parse("450203100201").unwrap(),
            head_name: None,
            department: Department::MedicalSecurity,
            category: MeasureCategory::Health,
            reason: "因病".into(),
            state,
            due_on: "2022-04-20".parse().unwrap(),
            answer: String::new(),
            completed_on: None,
            measure_id: None,
            created_by: "t".into(),
            created_at: DateTime::<Utc>::default(),
            updated_by: None,
            version: 1,
        }
    }

    #[test]
    fn the_life_of_a_task() {
        let today: NaiveDate = "2022-04-21".parse().unwrap();
        let med = Some(Department::MedicalSecurity);
        let staff = Role::DepartmentStaff;
        assert!(task(TaskState::Sent).overdue(today));
        assert!(!task(TaskState::Completed).overdue(today));
        assert_eq!(
            check_action(&task(TaskState::Sent), staff, med, &TaskAction::Accept, today),
            Ok(TaskState::Accepted)
        );
        // completing needs acceptance first, and what was done
        let done = TaskAction::Complete { text: "已纳入医疗救助".into(), on: today };
        assert!(matches!(
            check_action(&task(TaskState::Sent), staff, med, &done, today),
            Err(TaskError::WrongState { .. })
        ));
        assert_eq!(check_action(&task(TaskState::Accepted), staff, med, &done, today), Ok(TaskState::Completed));
        let empty = TaskAction::Complete { text: " ".into(), on: today };
        assert!(matches!(
            check_action(&task(TaskState::Accepted), staff, med, &empty, today),
            Err(TaskError::Missing(_))
        ));
        // another department, or the town, may not act for the department
        let edu = Some(Department::Education);
        assert!(matches!(
            check_action(&task(TaskState::Sent), staff, edu, &TaskAction::Accept, today),
            Err(TaskError::NotYourDepartment { .. })
        ));
        assert!(check_action(&task(TaskState::Sent), Role::TownOffice, med, &TaskAction::Accept, today).is_err());
        // sending back needs a reason; a closed task takes nothing more
        let back = TaskAction::SendBack { reason: "不属于本部门职责".into() };
        assert_eq!(check_action(&task(TaskState::Sent), staff, med, &back, today), Ok(TaskState::SentBack));
        assert!(check_action(&task(TaskState::Completed), staff, med, &back, today).is_err());
    }
}
