"""The library: every field kind reviewkit reads from Django, on all three engines."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class Author(models.Model):  # the default primary key: DEFAULT_AUTO_FIELD, a BigAutoField
    name = models.CharField(max_length=100, db_index=True)
    email = models.EmailField(unique=True)
    bio = models.TextField(null=True, db_comment="Written by the author")
    born = models.DateField(null=True)

    class Meta:
        db_table_comment = "People who write books"


class Publisher(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, db_default="US")
    founded = models.SmallIntegerField(null=True)

    class Meta:
        unique_together = [("name", "country")]


class Tag(models.Model):
    label = models.CharField(max_length=50, unique=True)


class Book(models.Model):
    title = models.CharField(max_length=200)
    isbn = models.CharField(max_length=13, unique=True, db_column="isbn_code")
    slug = models.SlugField(max_length=80)
    price = models.DecimalField(max_digits=8, decimal_places=2, db_default=0)
    pages = models.PositiveIntegerField(null=True)
    rating = models.FloatField(null=True)
    in_print = models.BooleanField(db_default=True)
    published = models.DateTimeField(null=True)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    publisher = models.ForeignKey(Publisher, on_delete=models.PROTECT, null=True)
    imprint = models.ForeignKey(Publisher, on_delete=models.SET_NULL, null=True, db_constraint=False,
                                related_name="imprinted")
    tags = models.ManyToManyField(Tag, related_name="books")

    class Meta:
        indexes = [models.Index(fields=["title", "-published"], name="book_title_published_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="book_price_not_negative"),
            models.UniqueConstraint(fields=["author", "title"], name="book_author_title_uniq"),
        ]


class Cover(models.Model):
    book = models.OneToOneField(Book, on_delete=models.CASCADE, primary_key=True)
    image = models.BinaryField()
    caption = models.CharField(max_length=120, null=True)


class Member(models.Model):
    name = models.CharField(max_length=100)
    card = models.CharField(max_length=12, unique=True)
    preferences = models.JSONField(null=True)
    books = models.ManyToManyField(Book, through="Loan", related_name="borrowers")


class Loan(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE)
    book = models.ForeignKey(Book, on_delete=models.CASCADE)
    borrowed_on = models.DateField()
    returned_on = models.DateField(null=True)
    times_renewed = models.PositiveSmallIntegerField(db_default=0)
    recorded_at = models.DateTimeField(db_default=Now())  # each engine's own "now", as Django declares it there
    due_on = models.DateField(db_default=Now(), null=True)

    class Meta:
        db_table = "library_loans"
        constraints = [
            models.CheckConstraint(condition=Q(returned_on__gte=models.F("borrowed_on")) | Q(returned_on__isnull=True),
                                   name="loan_returned_after_borrowed"),
        ]
