//! Local users and groups by id and name (the system's user and group databases), for
//! the control socket: who is asking, and may they.

use nix::unistd::{Gid, Group, Uid, User};

/// The user name of `uid`, or `uid N` when the system does not know it.
pub fn user_name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name)
}

/// The id of group `name`.
pub fn group_id(name: &str) -> Option<u32> {
    Group::from_name(name)
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
}

/// Whether user `uid` (primary group `gid`) may use the socket: the daemon's own user,
/// root, or a member of the staff group.
pub fn allowed(uid: u32, gid: u32, staff_group: Option<u32>) -> bool {
    if uid == 0 || uid == Uid::current().as_raw() {
        return true;
    }
    let Some(staff) = staff_group else {
        return false;
    };
    if gid == staff {
        return true;
    }
    let name = user_name(uid);
    Group::from_gid(Gid::from_raw(staff))
        .ok()
        .flatten()
        .is_some_and(|g| g.mem.contains(&name))
}

/// The user running this process, for commands that open the store themselves.
pub fn current_user() -> (String, u32) {
    let uid = Uid::current().as_raw();
    (user_name(uid), uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_ourselves_are_allowed_and_strangers_are_not() {
        let me = Uid::current().as_raw();
        assert!(allowed(0, 0, None));
        assert!(allowed(me, 12345, None));
        let stranger = if me == 54321 { 54322 } else { 54321 };
        assert!(!allowed(stranger, 54321, None));
        assert!(allowed(stranger, 54321, Some(54321)), "primary group");
        assert!(!allowed(stranger, 54320, Some(54321)));
        assert_eq!(user_name(0), "root");
        assert_eq!(group_id("root"), Some(0));
    }
}
