"""b24mirror: mirror a Bitrix24 workgroup's subtask activity into its master task."""

__version__ = "0.1.0"
