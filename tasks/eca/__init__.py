"""The External Client App (ECA) route: 6sense's supported method (facts §0; field-cases finding 1).

Install the packaged 6sense ECA by package version id with CumulusCI's standard install task, set its policies
(Start Page None, all users self-authorize, refresh token expires after 30 days unused) by metadata where the
org allows it, else guided, have the integration user authorize it in 6sense (guided), verify by query. For
connected-app customers, ``sixsense_remove_connected_app_access`` ends the migration, non-destructively.

ECA objects are read through the standard SOQL endpoint, not Tooling (facts §6.3); installed packages through
Tooling (``InstalledSubscriberPackage``, as CumulusCI reads them).
"""
