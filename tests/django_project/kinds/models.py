"""Every field kind whose column Django declares, and a foreign key to each kind of primary key.

Installed on all three engines: the types of `Kinds` are where Django's backends differ most
(DateTimeField, DecimalField, FloatField, JSONField, UUIDField, DurationField,
GenericIPAddressField and the positive integer fields), and `Pointer` holds a key to each primary key kind (a key to a positive integer
field is UNSIGNED on MySQL only).
"""

from django.db import models


class Kinds(models.Model):  # the default primary key: a BigAutoField
    flag = models.BooleanField()
    name = models.CharField(max_length=30)
    body = models.TextField(db_index=True)  # no index on MySQL under Django: InnoDB indexes no whole text
    day = models.DateField()
    moment = models.DateTimeField()
    clock = models.TimeField(null=True)
    amount = models.DecimalField(max_digits=10, decimal_places=3)
    ratio = models.FloatField()
    small = models.SmallIntegerField()
    number = models.IntegerField()
    big = models.BigIntegerField()
    positive_small = models.PositiveSmallIntegerField()
    positive = models.PositiveIntegerField()
    positive_big = models.PositiveBigIntegerField(null=True)
    token = models.UUIDField(unique=True)
    data = models.JSONField(default=dict)
    raw = models.BinaryField(null=True)
    slug = models.SlugField()
    email = models.EmailField()
    url = models.URLField()
    upload = models.FileField()
    span = models.DurationField(null=True)  # interval on PostgreSQL, bigint (microseconds) elsewhere
    address = models.GenericIPAddressField(null=True)  # inet on PostgreSQL, char(39) elsewhere


class SmallKey(models.Model):
    id = models.SmallAutoField(primary_key=True)


class PlainKey(models.Model):
    id = models.AutoField(primary_key=True)


class UuidKey(models.Model):
    id = models.UUIDField(primary_key=True)


class CodeKey(models.Model):
    code = models.CharField(max_length=10, primary_key=True)


class PositiveKey(models.Model):
    id = models.PositiveIntegerField(primary_key=True)


class Pointer(models.Model):
    to_kinds = models.ForeignKey(Kinds, on_delete=models.CASCADE)
    to_small = models.ForeignKey(SmallKey, on_delete=models.CASCADE)
    to_plain = models.ForeignKey(PlainKey, on_delete=models.CASCADE, null=True)
    to_uuid = models.ForeignKey(UuidKey, on_delete=models.CASCADE)
    to_code = models.ForeignKey(CodeKey, on_delete=models.CASCADE)
    to_positive = models.OneToOneField(PositiveKey, on_delete=models.CASCADE)
