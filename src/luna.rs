//! luna-handlers service's ready-made series: its twenty estimator counters
//! (`usages_statistic`) and its license check (`licensing`).

use crate::{MonitoringPoint, UsageStatistics};

/// The LUNA SDK estimator counters of one request; record with
/// [`UsageStatistics::record`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, UsageStatistics)]
#[allow(missing_docs)]
pub struct EstimatorUsages {
    pub face_detector_usages: u64,
    pub landmarks68_detector_usages: u64,
    pub head_pose_estimator_usages: u64,
    pub liveness_estimator_usages: u64,
    pub mask_estimator_usages: u64,
    pub emotion_estimator_usages: u64,
    pub mouth_estimator_usages: u64,
    pub eye_estimator_usages: u64,
    pub gaze_estimator_usages: u64,
    pub glasses_estimator_usages: u64,
    pub face_warp_quality_estimator_usages: u64,
    pub face_basic_attributes_extractor_usages: u64,
    pub face_descriptor_extractor_usages: u64,
    pub body_detector_usages: u64,
    pub body_descriptor_extractor_usages: u64,
    pub iso_estimator_usages: u64,
    pub face_quality_estimator_usages: u64,
    pub body_basic_attributes_estimator_usages: u64,
    pub body_upper_attributes_estimator_usages: u64,
    pub body_accessories_estimator_usages: u64,
}

/// The license status tag of the `licensing` series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LicenseStatus {
    /// The license is valid.
    Ok,
    /// The balance is running out.
    Warning,
    /// The license check failed.
    Error,
    /// The license check raised an exception.
    Exception,
}

impl LicenseStatus {
    /// The tag text: `ok`, `warning`, `error` or `exception`.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseStatus::Ok => "ok",
            LicenseStatus::Warning => "warning",
            LicenseStatus::Error => "error",
            LicenseStatus::Exception => "exception",
        }
    }
}

impl crate::ToTagValue for LicenseStatus {
    fn to_tag_value(&self) -> Option<crate::TagValue> {
        Some(crate::TagValue::Text(crate::Text::Static(self.as_str())))
    }
}

/// A license check (`licensing` series, tags `service` and `license_status`).
#[derive(Clone, Debug, PartialEq, MonitoringPoint)]
#[point(series = "licensing")]
pub struct Licensing {
    /// `ok`, `warning`, `error` or `exception`.
    #[point(tag)]
    pub license_status: LicenseStatus,
    /// Liveness estimations left before the license expires.
    pub liveness_balance: i64,
    /// Warnings of the check (omitted when `None`).
    pub warnings: Option<String>,
    /// Errors of the check (omitted when `None`).
    pub errors: Option<String>,
}
