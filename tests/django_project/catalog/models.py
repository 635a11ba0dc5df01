"""What PostgreSQL and SQLite hold and MariaDB does not: partial and expression indexes.

And a UUIDField: Django declares MariaDB's own UUID type (10.7+), which reviewkit's MariaDB
introspection does not read yet.
"""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class Shelf(models.Model):
    code = models.CharField(max_length=20)
    label = models.CharField(max_length=100)
    notes = models.TextField(db_index=True, null=True)
    archived_at = models.DateTimeField(null=True)
    public_id = models.UUIDField()

    class Meta:
        indexes = [
            models.Index(Lower("label"), name="shelf_label_lower_idx"),
            models.Index(fields=["code"], name="shelf_live_code_idx", condition=Q(archived_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=Q(archived_at__isnull=True), name="shelf_live_code_uniq"),
        ]
