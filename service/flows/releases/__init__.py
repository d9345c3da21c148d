"""Information releases (plan 5.4): proposed, approved or rejected by the HQ that leads."""
