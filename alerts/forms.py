"""Forms of the alerts page: the filter bar and the note sent with acknowledge/resolve."""

from __future__ import annotations

from django import forms

from alerts.models import AlertLevel, AlertStatus, AlertTrigger
from cameras.models import Camera

UNRESOLVED = "unresolved"
STATUS_CHOICES = [(UNRESOLVED, "Unresolved"), ("", "All"), *AlertStatus.choices]


class AlertFilterForm(forms.Form):
    level = forms.ChoiceField(choices=[("", "All levels"), *AlertLevel.choices], required=False)
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, initial=UNRESOLVED)
    trigger = forms.ChoiceField(
        label="Kind", choices=[("", "All kinds"), *AlertTrigger.choices], required=False
    )
    camera = forms.ModelChoiceField(queryset=Camera.objects.all(), required=False, empty_label="All cameras")
    since = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="To", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("“From” must be before “To”.")
        return data


class AlertNoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput(attrs={"size": 18}))
