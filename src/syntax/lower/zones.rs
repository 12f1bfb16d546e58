//! Time zone names an admin writes that are not regions: tz database
//! aliases (`US/Mountain`), POSIX-style rules (`EST5EDT`), abbreviations
//! (`MST`) and fixed offsets (`Etc/GMT+7`). Some are valid and some are not;
//! none says which place's clock the hours follow, and several keep one
//! offset all year, so hours written in them are an hour off for half of it.

use chrono::{NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

/// The region an admin most likely means by a name that is not one.
const REGIONS: &[(&str, &str)] = &[
    ("MST", "America/Denver"),
    ("MST7", "America/Denver"),
    ("MST7MDT", "America/Denver"),
    ("MDT", "America/Denver"),
    ("Mountain", "America/Denver"),
    ("US/Mountain", "America/Denver"),
    ("Navajo", "America/Denver"),
    ("US/Arizona", "America/Phoenix"),
    ("EST", "America/New_York"),
    ("EST5", "America/New_York"),
    ("EST5EDT", "America/New_York"),
    ("EDT", "America/New_York"),
    ("Eastern", "America/New_York"),
    ("US/Eastern", "America/New_York"),
    ("US/Michigan", "America/Detroit"),
    ("US/East-Indiana", "America/Indiana/Indianapolis"),
    ("CST", "America/Chicago"),
    ("CST6", "America/Chicago"),
    ("CST6CDT", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("Central", "America/Chicago"),
    ("US/Central", "America/Chicago"),
    ("PST", "America/Los_Angeles"),
    ("PST8", "America/Los_Angeles"),
    ("PST8PDT", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("Pacific", "America/Los_Angeles"),
    ("US/Pacific", "America/Los_Angeles"),
    ("AKST", "America/Anchorage"),
    ("US/Alaska", "America/Anchorage"),
    ("HST", "Pacific/Honolulu"),
    ("US/Hawaii", "Pacific/Honolulu"),
    ("Canada/Atlantic", "America/Halifax"),
    ("Canada/Central", "America/Winnipeg"),
    ("Canada/Eastern", "America/Toronto"),
    ("Canada/Mountain", "America/Edmonton"),
    ("Canada/Newfoundland", "America/St_Johns"),
    ("Canada/Pacific", "America/Vancouver"),
    ("Canada/Saskatchewan", "America/Regina"),
    ("Mexico/General", "America/Mexico_City"),
    ("Mexico/BajaNorte", "America/Tijuana"),
    ("Mexico/BajaSur", "America/Mazatlan"),
    ("GB", "Europe/London"),
    ("GMT", "Europe/London"),
    ("BST", "Europe/London"),
    ("Eire", "Europe/Dublin"),
    ("WET", "Europe/Lisbon"),
    ("CET", "Europe/Paris"),
    ("MET", "Europe/Paris"),
    ("EET", "Europe/Athens"),
    ("NZ", "Pacific/Auckland"),
];

/// The tz database's continents and oceans: a name under one of them is a
/// region.
const AREAS: &[&str] = &[
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
];

/// The region a name that is not one most likely means.
pub(crate) fn region_for(name: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map(|(_, region)| *region)
}

/// Why a zone the tz database knows is not a good one to write, if it is
/// not: the warning's message.
pub(crate) fn not_a_region(name: &str, zone: Tz) -> Option<String> {
    let area = name.split('/').next().unwrap_or_default();
    if name.contains('/') && AREAS.contains(&area) {
        return None;
    }
    if matches!(name, "UTC" | "Etc/UTC") {
        return None;
    }
    let offset = |month| {
        let day = NaiveDate::from_ymd_opt(2026, month, 1)?.and_hms_opt(12, 0, 0)?;
        Some(zone.offset_from_utc_datetime(&day).fix().local_minus_utc())
    };
    Some(match (offset(1), offset(7)) {
        (Some(winter), Some(summer)) if winter == summer => format!(
            "zone `{name}` keeps UTC{} all year, with no daylight saving",
            utc_offset(winter)
        ),
        _ => format!("zone `{name}` is a legacy name, not a region"),
    })
}

/// What to write instead.
pub(crate) fn hint(name: &str) -> String {
    match region_for(name) {
        Some(region) => format!(
            "write `zone {region}`: its hours follow that place's clock, daylight saving included"
        ),
        None => {
            "name the region whose clock the hours follow, e.g. America/Denver or Europe/London"
                .into()
        }
    }
}

/// `+07:00`, `−07:00` (a minus sign, as an offset is printed).
fn utc_offset(secs: i32) -> String {
    let sign = if secs < 0 { '−' } else { '+' };
    let mins = secs.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", mins / 60, mins % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_a_region_are_told_apart_from_regions() {
        let tz = |n: &str| n.parse::<Tz>().unwrap();
        assert_eq!(
            not_a_region("MST", tz("MST")).unwrap(),
            "zone `MST` keeps UTC−07:00 all year, with no daylight saving"
        );
        assert!(not_a_region("Etc/GMT+7", tz("Etc/GMT+7"))
            .unwrap()
            .contains("UTC−07:00 all year"));
        assert!(not_a_region("US/Mountain", tz("US/Mountain"))
            .unwrap()
            .contains("legacy name"));
        assert!(not_a_region("EST5EDT", tz("EST5EDT")).is_some());
        assert_eq!(not_a_region("America/Denver", tz("America/Denver")), None);
        assert_eq!(not_a_region("UTC", tz("UTC")), None);
        for name in ["MST", "Mountain", "MST7", "US/Mountain", "mst"] {
            assert_eq!(region_for(name), Some("America/Denver"), "{name}");
        }
    }

    #[test]
    fn every_suggested_region_is_a_region() {
        for (alias, region) in REGIONS {
            let zone: Tz = region
                .parse()
                .unwrap_or_else(|_| panic!("{alias} → {region}"));
            assert_eq!(not_a_region(region, zone), None, "{region}");
        }
    }
}
